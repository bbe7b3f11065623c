"""Checks of the code that deploys the stack: Terraform and Ansible stages, HCL policies."""
