"""The product's rules: images, instances, disks and snapshots, key pairs, accounts, regions.
Services never see HTTP: they take typed requests and return views (see docs/architecture.md)."""
