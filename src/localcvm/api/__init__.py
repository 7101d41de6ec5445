"""The wire protocol: Tencent Cloud API 3.0 over HTTP. Never touches SQL or files."""
