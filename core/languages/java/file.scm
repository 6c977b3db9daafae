; The package declaration, copied into the runtime class so it lands in the same package;
; empty in the default package.
(package_declaration) @package
