"""Offloading in the window: the Offload page, *Submit job*, *Clusters*, the OTP prompt."""
