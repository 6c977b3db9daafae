; Every method; the whole definition is the body: its entry goes after the `def` line, its exit
; before `end`. (Endless methods, `def f = 1`, are told apart in language.toml's skip_when.)
(method
  name: (_) @name) @function @body

(singleton_method
  object: (self)
  name: (_) @name) @function.singleton @body

; `def obj.name` on another object is qualified by it.
((singleton_method
  object: (_) @qualifier
  name: (_) @name) @function.singleton @body
 (#not-eq? @qualifier "self"))
