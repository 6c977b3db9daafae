; The package header, copied into the runtime object so it lands in the same package;
; empty in the default package.
(package_header) @package
