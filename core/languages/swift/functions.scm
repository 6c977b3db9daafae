; Functions, methods and nested functions, initialisers and deinitialisers with a body.
; (Bodies that cannot take an entry statement are told apart in language.toml's skip_when.)
; Few and plain patterns: the Swift grammar makes every pattern step costly to compile.
(function_declaration
  name: (simple_identifier) @name
  body: (function_body) @body) @function

(init_declaration "init" @name body: (function_body) @body) @function.init
(deinit_declaration "deinit" @name body: (function_body) @body) @function.deinit
