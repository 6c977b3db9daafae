; Ruby probe sites (docs/probes.md): loops and assignments that are statements of a body
; (a method's or block's body, `do ... end` of while/until/for, the branches of if/case/begin,
; ensure), and parameters. Modifier forms (`x += 1 while c`, `begin ... end while c`) are left
; alone, and so are one-line blocks (`3.times { |k| p k }`: no line of their own for the
; iteration call). Ruby has no labelled loops.
;
; The iteration line goes before a body's first statement (@body), never on the loop's line.
; A body's last statement is its value (a method's result, a block's, an if's): an assignment
; there gets no variable line after it; the var call also returns the value it is given.
; (Each pattern lists the statement containers: a loop or assignment anywhere else, e.g. in an
; argument list or on the right of `=`, is part of an expression.)

; -- loops ----------------------------------------------------------------------------------

[(body_statement (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)
 (do (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)
 (block_body (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)
 (then (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)
 (else (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)
 (begin (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)
 (ensure (for pattern: [(identifier) @var (left_assignment_list (identifier) @var)] body: (do . (_) @body)) @loop.for)]

[(body_statement (while body: (do . (_) @body)) @loop.while)
 (do (while body: (do . (_) @body)) @loop.while)
 (block_body (while body: (do . (_) @body)) @loop.while)
 (then (while body: (do . (_) @body)) @loop.while)
 (else (while body: (do . (_) @body)) @loop.while)
 (begin (while body: (do . (_) @body)) @loop.while)
 (ensure (while body: (do . (_) @body)) @loop.while)]

[(body_statement (until body: (do . (_) @body)) @loop.until)
 (do (until body: (do . (_) @body)) @loop.until)
 (block_body (until body: (do . (_) @body)) @loop.until)
 (then (until body: (do . (_) @body)) @loop.until)
 (else (until body: (do . (_) @body)) @loop.until)
 (begin (until body: (do . (_) @body)) @loop.until)
 (ensure (until body: (do . (_) @body)) @loop.until)]

; loop do ... end, and the each family with a multi-line block (its parameters are the
; loop variables).
([(body_statement (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)
 (do (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)
 (block_body (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)
 (then (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)
 (else (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)
 (begin (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)
 (ensure (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.loop)]
 (#eq? @method "loop"))
([(body_statement (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)
 (do (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)
 (block_body (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)
 (then (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)
 (else (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)
 (begin (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)
 (ensure (call
   method: (identifier) @method
   block: [(do_block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (body_statement . (_) @body))
           (block
             parameters: (block_parameters
               [(identifier) @var
                (destructured_parameter (identifier) @var)
                (splat_parameter name: (identifier) @var)
                (optional_parameter name: (identifier) @var)])
             body: (block_body . (_) @body))]) @loop.each)]
 (#match? @method "^(each|each_with_index|each_with_object|each_pair|each_key|each_value|each_index|each_char|each_line|each_byte|each_slice|each_cons|each_entry|reverse_each|times|upto|downto|step)$"))
([(body_statement (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)
 (do (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)
 (block_body (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)
 (then (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)
 (else (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)
 (begin (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)
 (ensure (call
   method: (identifier) @method
   block: [(do_block !parameters body: (body_statement . (_) @body))
           (block !parameters body: (block_body . (_) @body))]) @loop.each)]
 (#match? @method "^(each|each_with_index|each_with_object|each_pair|each_key|each_value|each_index|each_char|each_line|each_byte|each_slice|each_cons|each_entry|reverse_each|times|upto|downto|step)$"))

; -- assignments ----------------------------------------------------------------------------

; x = ...; a, b = ...; a, *rest = ...; x += ... / x ||= ... (attributes, indexes, instance and
; global variables are left alone: reading them again could run code).
[(body_statement [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)
 (do [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)
 (block_body [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)
 (then [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)
 (else [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)
 (begin [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)
 (ensure [(assignment left: [(identifier) @var
                    (left_assignment_list
                      [(identifier) @var (rest_assignment (identifier) @var)])])
 (operator_assignment left: (identifier) @var)] @assign)]

; A body's last statement is its value: no line after it (comments after it do not count,
; nor do a method's rescue/else/ensure clauses). The body of while/until/for has no value.
[(body_statement [(assignment) (operator_assignment)] @skip . (comment)* .)
 (block_body [(assignment) (operator_assignment)] @skip . (comment)* .)
 (then [(assignment) (operator_assignment)] @skip . (comment)* .)
 (else [(assignment) (operator_assignment)] @skip . (comment)* .)
 (begin [(assignment) (operator_assignment)] @skip . (comment)* .)]
(body_statement
  [(assignment) (operator_assignment)] @skip . (comment)* . [(rescue) (else) (ensure)])

; A heredoc's text follows the line that opens it: a line after the assignment's node would
; land inside the text.
((assignment) @skip (#match? @skip "<<[~-]?[A-Za-z_\"'`]"))
((operator_assignment) @skip (#match? @skip "<<[~-]?[A-Za-z_\"'`]"))

; -- parameters -----------------------------------------------------------------------------
; (For the args probe; see language.toml: the runtime reads them from the method's binding.)

(method_parameters (identifier) @param)
(method_parameters (optional_parameter name: (identifier) @param))
(method_parameters (splat_parameter name: (identifier) @param))
(method_parameters (hash_splat_parameter name: (identifier) @param))
(method_parameters (keyword_parameter name: (identifier) @param))
(method_parameters (block_parameter name: (identifier) @param))
