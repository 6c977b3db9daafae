; Definitions with a plain block body: functions, methods in and out of their class
; (`ns::A::f` qualifies f with ns.A; scopes.scm adds enclosing namespaces and classes),
; constructors, destructors, operators, templates and specializations, under pointer and
; reference returns and function-pointer returns. Declarations, `= default`, pure virtuals
; and function-try-blocks have no such body (constexpr ones: skip_when in language.toml).

; f()
(function_definition
  declarator: (function_declarator
    declarator: [
      (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
      (template_function name: (identifier) @name)
      (qualified_identifier
        scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
        name: [
          (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
          (template_function name: (identifier) @name)
          (qualified_identifier
            scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
            name: [
              (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
              (template_function name: (identifier) @name)
              (qualified_identifier
                scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
                name: [(identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
                       (template_function name: (identifier) @name)])])])])
  body: (compound_statement) @body) @function

; *f(), &f(), (f)()
(function_definition
  declarator: (_ (function_declarator
    declarator: [
      (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
      (template_function name: (identifier) @name)
      (qualified_identifier
        scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
        name: [
          (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
          (template_function name: (identifier) @name)
          (qualified_identifier
            scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
            name: [
              (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
              (template_function name: (identifier) @name)
              (qualified_identifier
                scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
                name: [(identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
                       (template_function name: (identifier) @name)])])])]))
  body: (compound_statement) @body) @function

; **f(), *&f()
(function_definition
  declarator: (_ (_ (function_declarator
    declarator: [
      (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
      (template_function name: (identifier) @name)
      (qualified_identifier
        scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
        name: [
          (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
          (template_function name: (identifier) @name)
          (qualified_identifier
            scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
            name: [
              (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
              (template_function name: (identifier) @name)
              (qualified_identifier
                scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
                name: [(identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
                       (template_function name: (identifier) @name)])])])])))
  body: (compound_statement) @body) @function

; (*f())(int): returns a function pointer
(function_definition
  declarator: (function_declarator declarator: (_ (_ (function_declarator
    declarator: [
      (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
      (template_function name: (identifier) @name)
      (qualified_identifier
        scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
        name: [
          (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
          (template_function name: (identifier) @name)
          (qualified_identifier
            scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
            name: [
              (identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
              (template_function name: (identifier) @name)
              (qualified_identifier
                scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
                name: [(identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name
                       (template_function name: (identifier) @name)])])])]))))
  body: (compound_statement) @body) @function

; Conversion operators: `operator bool() const`, in and out of their class.
(function_definition
  declarator: [
    (operator_cast) @name
    (qualified_identifier
      scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
      name: [
        (operator_cast) @name
        (qualified_identifier
          scope: [(namespace_identifier) @qualifier (template_type name: (type_identifier) @qualifier)]
          name: (operator_cast) @name)])]
  body: (compound_statement) @body) @function

; Lambdas with a block body: named after the variable they initialise, else anonymous.
(declaration
  declarator: (init_declarator
    declarator: (identifier) @name
    value: (lambda_expression body: (compound_statement) @body) @function.lambda))
(lambda_expression body: (compound_statement) @body) @function.lambda
