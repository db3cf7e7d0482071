"""Case specifications: the proposer's action space. A short text from a documented vocabulary
(a diagnosis or a calculator; severity, age and sex; one to three twists) that the simulator
makes into a plausible case and note, and whose label the engine decides.

    from simulator import Simulator
    from simulator.spec import instantiate, parse_spec, sample_spec, vocabulary
    sim = Simulator.load()
    spec = parse_spec(sim, "diagnosis: DKA\\nage: 45\\nsex: F\\ntwist: add fever\\ntwist: style referral")
    inst = instantiate(sim, spec, seed=3)     # Instance (case, note, what the twists did) or Rejection
    spec.to_text()                            # canonical text, for finding repeated specifications
    print(vocabulary(sim, "diagnosis"))       # the format, as a proposer's prompt lists it
    sample_spec(sim, random.Random(0), kind="calculation")   # a random valid specification

    python -m simulator.spec --n 4            # how often sampled specifications instantiate

Modules: `vocabulary` (the words, from the packs), `format` (parse_spec, Spec, canonical text),
`twists` (what each twist does to a case), `instantiate` (draw, twist, check, label, note),
`sampler` (random specifications and their validity report). The format is documented for
users in docs/specifications.md. No torch; nothing here imports azmed.
"""

from simulator.spec.format import MAX_TWISTS, Spec, Twist, parse_spec
from simulator.spec.instantiate import Instance, NoteOptions, instantiate, vignette_source
from simulator.spec.sampler import sample_spec, validity
from simulator.spec.vocabulary import Words, vocabulary

__all__ = ["MAX_TWISTS", "Instance", "NoteOptions", "Spec", "Twist", "Words", "instantiate", "parse_spec",
           "sample_spec", "validity", "vignette_source", "vocabulary"]
