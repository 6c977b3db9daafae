; Go: function and method declarations with a body (declarations without one, implemented in
; assembly or by linkname, have nothing to instrument), and function literals.

(function_declaration
  name: (identifier) @name
  body: (block) @body) @function

; A method's qualifier is its receiver's base type: (*T).M, (T).M, (*T[K]).M and (T[K]).M
; are all T.M.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @qualifier
        (generic_type type: (type_identifier) @qualifier)
        (pointer_type (type_identifier) @qualifier)
        (pointer_type (generic_type type: (type_identifier) @qualifier))
        (parenthesized_type (pointer_type (type_identifier) @qualifier))
      ]))
  name: (field_identifier) @name
  body: (block) @body) @function.method

; Function literals take the name they are bound to: f := func..., var f = func...,
; f = func..., s.f = func..., Struct{Field: func...}; the first two of a multiple assignment.
(short_var_declaration
  left: (expression_list . (identifier) @name)
  right: (expression_list . (func_literal body: (block) @body) @function.closure)
  (#not-eq? @name "_"))
(short_var_declaration
  left: (expression_list . (_) . (identifier) @name)
  right: (expression_list . (_) . (func_literal body: (block) @body) @function.closure)
  (#not-eq? @name "_"))
(var_spec
  name: (identifier) @name
  value: (expression_list . (func_literal body: (block) @body) @function.closure)
  (#not-eq? @name "_"))
(assignment_statement
  left: (expression_list . [(identifier) (selector_expression)] @name)
  right: (expression_list . (func_literal body: (block) @body) @function.closure)
  (#not-eq? @name "_"))
(keyed_element
  . (literal_element (identifier) @name)
  . (literal_element (func_literal body: (block) @body) @function.closure))

; Every other function literal (goroutines, deferred calls, arguments): <anonymous>, qualified
; by the function it is written in.
(func_literal body: (block) @body) @function.closure
