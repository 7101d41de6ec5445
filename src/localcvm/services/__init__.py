"""The product's rules (PRODUCT.md R1-R18). Services never see HTTP."""
