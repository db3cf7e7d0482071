"""Clinical notes: any simulated case written as a note, and notes read back into cases.

    from simulator.notes import STYLES, read_note, render_note
    note = render_note(sim, case, style="triage")   # Note: .text, .style, .units, .omitted
    again = read_note(sim, note.text)               # Case with the engine's label, or Rejection

Styles: `triage` (ED triage note), `admission` (history and physical), `ward_round` (progress
note, SOAP), `referral` (letter from a GP), `lab_report` (results table with reference
intervals). Notes use the registry's names, aliases and accepted units, abbreviations, narrative
sentences, pertinent negatives and irrelevant details (social history, medications consistent
with the history, normal exam lines); they never name a diagnosis, and the reader recovers every
value and finding the engine used, so the engine gives the re-read note the case's label.

Modules: `lexicon` (the registry's words, leak detection), `reader` (read_note, scan),
`draft` (what a note says; `NoteExtras` for what a caller adds, e.g. calculator vignettes'
prescriptions and dates), `writer` (render_note and the five layouts), `phrases` (filler
wording). No torch; nothing here imports azmed.
"""

from simulator.notes.draft import NoteError, NoteExtras
from simulator.notes.reader import NoteFacts, read_note, scan
from simulator.notes.writer import STYLES, Note, omitted_findings, render_note

__all__ = ["STYLES", "Note", "NoteError", "NoteExtras", "NoteFacts", "omitted_findings", "read_note", "render_note", "scan"]
