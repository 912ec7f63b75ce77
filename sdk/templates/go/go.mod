module {{name_ident}}

go 1.24

require weft.local/sdk v0.0.0

replace weft.local/sdk => {{sdk_dir}}/go
