module example.com/telemetrydemo

go 1.22
