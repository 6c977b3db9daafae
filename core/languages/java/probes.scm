; Java probe sites (docs/probes.md). Only statements of a block, a constructor body or a switch
; case group (`case 1: int x = f(); for (...) ...`) are chosen: a loop that is the braceless
; body of an if/else or of another loop has no place for a line before it. Every block-bodied
; lambda is a function of its own, so a loop in a lambda belongs to it (and its state variable
; is named after the lambda's depth: a lambda may not redeclare a local of its method).

; Loops: for (the variables its initialiser declares with a value or assigns: one match each,
; the core joins them), enhanced for (its variable, kind "each"), while and do. A labelled loop gets its setup line before the label. A braceless body is wrapped in
; braces by the core; an empty body (`while (f());`) is no node and has none to wrap.
[
  (block (for_statement init: (local_variable_declaration (variable_declarator name: (identifier) @var value: (_))) body: (_) @body) @loop.for)
  (constructor_body (for_statement init: (local_variable_declaration (variable_declarator name: (identifier) @var value: (_))) body: (_) @body) @loop.for)
  (switch_block_statement_group (for_statement init: (local_variable_declaration (variable_declarator name: (identifier) @var value: (_))) body: (_) @body) @loop.for)
  (block (labeled_statement (for_statement init: (local_variable_declaration (variable_declarator name: (identifier) @var value: (_))) body: (_) @body) @loop.for) @statement)
  (constructor_body (labeled_statement (for_statement init: (local_variable_declaration (variable_declarator name: (identifier) @var value: (_))) body: (_) @body) @loop.for) @statement)
  (switch_block_statement_group (labeled_statement (for_statement init: (local_variable_declaration (variable_declarator name: (identifier) @var value: (_))) body: (_) @body) @loop.for) @statement)
]
[
  (block (for_statement init: (assignment_expression left: (identifier) @var) body: (_) @body) @loop.for)
  (constructor_body (for_statement init: (assignment_expression left: (identifier) @var) body: (_) @body) @loop.for)
  (switch_block_statement_group (for_statement init: (assignment_expression left: (identifier) @var) body: (_) @body) @loop.for)
  (block (labeled_statement (for_statement init: (assignment_expression left: (identifier) @var) body: (_) @body) @loop.for) @statement)
  (constructor_body (labeled_statement (for_statement init: (assignment_expression left: (identifier) @var) body: (_) @body) @loop.for) @statement)
  (switch_block_statement_group (labeled_statement (for_statement init: (assignment_expression left: (identifier) @var) body: (_) @body) @loop.for) @statement)
]
[
  (block (for_statement init: [(method_invocation) (update_expression) (object_creation_expression) (assignment_expression left: [(field_access) (array_access)])] body: (_) @body) @loop.for)
  (constructor_body (for_statement init: [(method_invocation) (update_expression) (object_creation_expression) (assignment_expression left: [(field_access) (array_access)])] body: (_) @body) @loop.for)
  (switch_block_statement_group (for_statement init: [(method_invocation) (update_expression) (object_creation_expression) (assignment_expression left: [(field_access) (array_access)])] body: (_) @body) @loop.for)
  (block (labeled_statement (for_statement init: [(method_invocation) (update_expression) (object_creation_expression) (assignment_expression left: [(field_access) (array_access)])] body: (_) @body) @loop.for) @statement)
  (constructor_body (labeled_statement (for_statement init: [(method_invocation) (update_expression) (object_creation_expression) (assignment_expression left: [(field_access) (array_access)])] body: (_) @body) @loop.for) @statement)
  (switch_block_statement_group (labeled_statement (for_statement init: [(method_invocation) (update_expression) (object_creation_expression) (assignment_expression left: [(field_access) (array_access)])] body: (_) @body) @loop.for) @statement)
]
[
  (block (for_statement !init body: (_) @body) @loop.for)
  (constructor_body (for_statement !init body: (_) @body) @loop.for)
  (switch_block_statement_group (for_statement !init body: (_) @body) @loop.for)
  (block (labeled_statement (for_statement !init body: (_) @body) @loop.for) @statement)
  (constructor_body (labeled_statement (for_statement !init body: (_) @body) @loop.for) @statement)
  (switch_block_statement_group (labeled_statement (for_statement !init body: (_) @body) @loop.for) @statement)
]
[
  (block (enhanced_for_statement name: (identifier) @var body: (_) @body) @loop.each)
  (constructor_body (enhanced_for_statement name: (identifier) @var body: (_) @body) @loop.each)
  (switch_block_statement_group (enhanced_for_statement name: (identifier) @var body: (_) @body) @loop.each)
  (block (labeled_statement (enhanced_for_statement name: (identifier) @var body: (_) @body) @loop.each) @statement)
  (constructor_body (labeled_statement (enhanced_for_statement name: (identifier) @var body: (_) @body) @loop.each) @statement)
  (switch_block_statement_group (labeled_statement (enhanced_for_statement name: (identifier) @var body: (_) @body) @loop.each) @statement)
]
[
  (block (while_statement body: (_) @body) @loop.while)
  (constructor_body (while_statement body: (_) @body) @loop.while)
  (switch_block_statement_group (while_statement body: (_) @body) @loop.while)
  (block (labeled_statement (while_statement body: (_) @body) @loop.while) @statement)
  (constructor_body (labeled_statement (while_statement body: (_) @body) @loop.while) @statement)
  (switch_block_statement_group (labeled_statement (while_statement body: (_) @body) @loop.while) @statement)
]
[
  (block (do_statement body: (_) @body) @loop.do)
  (constructor_body (do_statement body: (_) @body) @loop.do)
  (switch_block_statement_group (do_statement body: (_) @body) @loop.do)
  (block (labeled_statement (do_statement body: (_) @body) @loop.do) @statement)
  (constructor_body (labeled_statement (do_statement body: (_) @body) @loop.do) @statement)
  (switch_block_statement_group (labeled_statement (do_statement body: (_) @body) @loop.do) @statement)
]

; Declarations with an initialiser (`int a = 1, b;` reports a) and assignments to a plain name,
; compound ones included (`a += 2`, `a = b = 0` reports both). Fields (`this.x = ...`), array
; elements and increments (`i++`) are left alone.
[
  (block (local_variable_declaration declarator: (variable_declarator name: (identifier) @var value: (_))) @assign)
  (constructor_body (local_variable_declaration declarator: (variable_declarator name: (identifier) @var value: (_))) @assign)
  (switch_block_statement_group (local_variable_declaration declarator: (variable_declarator name: (identifier) @var value: (_))) @assign)
]
[
  (block (expression_statement (assignment_expression left: (identifier) @var)) @assign)
  (constructor_body (expression_statement (assignment_expression left: (identifier) @var)) @assign)
  (switch_block_statement_group (expression_statement (assignment_expression left: (identifier) @var)) @assign)
]
[
  (block (expression_statement (assignment_expression right: (assignment_expression left: (identifier) @var))) @assign)
  (constructor_body (expression_statement (assignment_expression right: (assignment_expression left: (identifier) @var))) @assign)
  (switch_block_statement_group (expression_statement (assignment_expression right: (assignment_expression left: (identifier) @var))) @assign)
]

; Parameters: of methods and constructors, varargs, and of lambdas (typed, inferred or bare).
(formal_parameters (formal_parameter name: (identifier) @param))
(formal_parameters (spread_parameter (variable_declarator name: (identifier) @param)))
(inferred_parameters (identifier) @param)
(lambda_expression parameters: (identifier) @param)
