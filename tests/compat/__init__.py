"""Replays of the Terraform provider's call sequences (tencentcloudstack/terraform-provider-tencentcloud)."""
