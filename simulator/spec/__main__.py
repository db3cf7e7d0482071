"""`python -m simulator.spec --n 4`: how often sampled specifications instantiate (see sampler.py)."""

from simulator.spec.sampler import main

main()
