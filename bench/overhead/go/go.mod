module overhead

go 1.22
