<?php
// Calls a tiny function N times; prints nanoseconds per call (loop included).
function tiny($x) {
    return $x + 1;
}

function run($n) {
    $t0 = hrtime(true);
    $x = 0;
    for ($i = 0; $i < $n; $i++) {
        $x = tiny($x);
    }
    if ($x !== $n) {
        throw new RuntimeException("bad sum");
    }
    return hrtime(true) - $t0;
}

$n = (int) $argv[1];
echo run($n) / $n, "\n";
