; Function definitions with a body; the name is the identifier of the innermost function
; declarator, under pointer returns (`char **f(void)`) and function-pointer returns
; (`int (*f(char c))(int, int)`) and export macros (`int API(f)(int x)`). Declarations
; (prototypes) have no body and never match; macro bodies are unparsed preproc_arg text.
(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator declarator: (identifier) @name)))
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator
          declarator: (function_declarator declarator: (identifier) @name))))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (parenthesized_declarator
          (pointer_declarator
            declarator: (function_declarator declarator: (identifier) @name)))))
    ; `int BZ_API(name)(params)`: a macro wraps the name (C has no functions returning functions).
    (function_declarator
      declarator: (function_declarator
        declarator: (identifier)
        parameters: (parameter_list . (parameter_declaration type: (type_identifier) @name) .)))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (function_declarator
          declarator: (identifier)
          parameters: (parameter_list . (parameter_declaration type: (type_identifier) @name) .))))
  ]
  body: (compound_statement) @body) @function
