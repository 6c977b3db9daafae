; Methods with a body, at any depth: classes, interfaces (default/static), enums and their
; constants' bodies, records, anonymous, local and inner classes.
(method_declaration
  name: (identifier) @name
  body: (block) @body) @function.method

; Constructors (named after their class: `Point.Point`) and compact record constructors.
(constructor_declaration
  name: (identifier) @name
  body: (constructor_body) @body) @function.constructor

(compact_constructor_declaration
  name: (identifier) @name
  body: (block) @body) @function.constructor

; Lambdas with a block body; one stored in a variable or field takes its name.
(variable_declarator
  name: (identifier) @name
  value: (lambda_expression
    body: (block) @body) @function.lambda)

(lambda_expression
  body: (block) @body) @function.lambda
