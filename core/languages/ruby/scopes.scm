; Classes and modules qualify their methods (`Shop::Cart` stays one name); `class << self`
; adds nothing, so its methods read like `def self.x` ones.
(class name: (_) @name) @scope
(module name: (_) @name) @scope
