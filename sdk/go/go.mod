module weft.local/sdk

go 1.24
