; JavaScript probe sites (docs/probes.md): parameters. Loops and assignments are in
; probes.statements.scm, shared with TypeScript.

; -- parameters -----------------------------------------------------------------------------

; a, a = 1, ...a, and the plain names of destructured parameters ({a, b: c}, [d, e]), also
; with a default ({a} = {}). Only in the parameter list of a function with a block body: an
; expression-bodied arrow in a default value (f = (x) => x) is not a function of its own.
(_ parameters: (formal_parameters (identifier) @param) body: (statement_block))
(_ parameters: (formal_parameters (assignment_pattern left: (identifier) @param))
   body: (statement_block))
(_ parameters: (formal_parameters (rest_pattern (identifier) @param)) body: (statement_block))
(arrow_function parameter: (identifier) @param body: (statement_block))
(_
  parameters: (formal_parameters
    [(object_pattern [(shorthand_property_identifier_pattern) @param
                      (pair_pattern value: (identifier) @param)
                      (object_assignment_pattern
                        left: (shorthand_property_identifier_pattern) @param)
                      (pair_pattern value: (assignment_pattern left: (identifier) @param))
                      (rest_pattern (identifier) @param)])
     (assignment_pattern
       left: (object_pattern [(shorthand_property_identifier_pattern) @param
                              (pair_pattern value: (identifier) @param)
                              (object_assignment_pattern
                                left: (shorthand_property_identifier_pattern) @param)
                              (pair_pattern value: (assignment_pattern left: (identifier) @param))
                              (rest_pattern (identifier) @param)]))])
  body: (statement_block))
(_
  parameters: (formal_parameters
    [(array_pattern [(identifier) @param
                     (assignment_pattern left: (identifier) @param)
                     (rest_pattern (identifier) @param)])
     (assignment_pattern
       left: (array_pattern [(identifier) @param
                             (assignment_pattern left: (identifier) @param)
                             (rest_pattern (identifier) @param)]))])
  body: (statement_block))
