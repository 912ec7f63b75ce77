module weft.local/plugins/elasticsearch

go 1.24

require weft.local/sdk v0.0.0

replace weft.local/sdk => ../../sdk/go
