; Function definitions with a body; the name is the identifier of the innermost function
; declarator, under pointer returns (`char **f(void)`) and function-pointer returns
; (`int (*f(char c))(int, int)`). Declarations (prototypes) have no body and never match;
; macro bodies are unparsed preproc_arg text.
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
  ]
  body: (compound_statement) @body) @function
