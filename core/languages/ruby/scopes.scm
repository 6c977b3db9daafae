; Classes and modules qualify their methods; `class A::B` reads like `module A; class B`
; (A.B), to three levels. `class << self` adds nothing, so its methods read like `def self.x`.
(class name: (constant) @name) @scope
(module name: (constant) @name) @scope
(class name: (scope_resolution scope: (constant) @name name: (constant) @name)) @scope
(module name: (scope_resolution scope: (constant) @name name: (constant) @name)) @scope
(class name: (scope_resolution
  scope: (scope_resolution scope: (constant) @name name: (constant) @name)
  name: (constant) @name)) @scope
(module name: (scope_resolution
  scope: (scope_resolution scope: (constant) @name name: (constant) @name)
  name: (constant) @name)) @scope
(class name: (scope_resolution !scope name: (constant) @name)) @scope
(module name: (scope_resolution !scope name: (constant) @name)) @scope
