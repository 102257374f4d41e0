"""Pulumi resources, validation and a local emulator for Cloudflare BYOIP bindings."""
