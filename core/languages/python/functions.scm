; Every def, at any depth: top-level functions, methods, nested functions; async included.
(function_definition
  name: (identifier) @name
  body: (block) @body) @function
