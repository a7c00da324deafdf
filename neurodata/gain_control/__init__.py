"""Adaptive gain control in a recurrent V1 ring network (Duong et al. 2023)."""
