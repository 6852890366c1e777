"""Input and output: atomic files (files), ArviZ/netCDF (arviz), matplotlib figures (plots)."""
