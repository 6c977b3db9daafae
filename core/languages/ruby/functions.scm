; Methods that end with `end`; endless methods (`def f = 1`) have no `end` and are left alone.
; The whole definition is the body: its entry goes after the `def` line, its exit before `end`.
(method
  name: (_) @name
  "end") @function @body

(singleton_method
  object: (self)
  name: (_) @name
  "end") @function.singleton @body

; `def obj.name` on another object is qualified by it.
((singleton_method
  object: (_) @qualifier
  name: (_) @name
  "end") @function.singleton @body
 (#not-eq? @qualifier "self"))
