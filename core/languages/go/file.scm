; The package clause: the runtime file is written in the same package.
(package_clause (package_identifier) @package)
