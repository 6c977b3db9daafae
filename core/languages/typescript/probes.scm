; TypeScript (and TSX) probe sites (docs/probes.md): parameters. Loops and assignments are
; JavaScript's (javascript/probes.statements.scm): the grammars share those nodes.

; -- parameters -----------------------------------------------------------------------------

; a, a?, a = 1, ...a, parameter properties (private a), and the plain names of destructured
; parameters ({a, b: c}, [d, e]). Only in the parameter list of a function with a block body:
; not in function types (cb: (x: number) => void) nor in an expression-bodied arrow of a
; default value. `this` is no parameter.
(_
  parameters: (formal_parameters
    [(required_parameter pattern: (identifier) @param)
     (optional_parameter pattern: (identifier) @param)
     (required_parameter pattern: (rest_pattern (identifier) @param))])
  body: (statement_block))
(arrow_function parameter: (identifier) @param body: (statement_block))
(_
  parameters: (formal_parameters
    [(required_parameter
       pattern: (object_pattern [(shorthand_property_identifier_pattern) @param
                                 (pair_pattern value: (identifier) @param)
                                 (object_assignment_pattern
                                   left: (shorthand_property_identifier_pattern) @param)
                                 (pair_pattern value: (assignment_pattern left: (identifier) @param))
                                 (rest_pattern (identifier) @param)]))
     (optional_parameter
       pattern: (object_pattern [(shorthand_property_identifier_pattern) @param
                                 (pair_pattern value: (identifier) @param)
                                 (object_assignment_pattern
                                   left: (shorthand_property_identifier_pattern) @param)
                                 (pair_pattern value: (assignment_pattern left: (identifier) @param))
                                 (rest_pattern (identifier) @param)]))])
  body: (statement_block))
(_
  parameters: (formal_parameters
    [(required_parameter
       pattern: (array_pattern [(identifier) @param
                                (assignment_pattern left: (identifier) @param)
                                (rest_pattern (identifier) @param)]))
     (optional_parameter
       pattern: (array_pattern [(identifier) @param
                                (assignment_pattern left: (identifier) @param)
                                (rest_pattern (identifier) @param)]))])
  body: (statement_block))
