"""The `agentclinic` suite: AgentClinic OSCE cases (Schmidgall et al. 2024), diagnosed in one turn.

    azmed eval --suite agentclinic --model embedded --limit 20 --out base.json
    azmed eval --suite agentclinic --agentclinic-jsonl path/to/agentclinic_nejm.jsonl ...

The whole OSCE case except `Correct_Diagnosis` (objective, patient history, symptoms, exam,
test results) is written out as indented "Key: value" lines and the model is asked for the
most likely diagnosis, as the clinical environment asks its solver. No model acts as a judge;
an answer is scored two ways, both reported:
- exact: the normalised answer equals the normalised `Correct_Diagnosis`. Normalising lowers
  case, drops accents, possessives ("Hirschsprung's"), punctuation, a leading article and lead
  phrases ("The most likely diagnosis is"); a parenthesised part is an alternative form
  ("Benign paroxysmal positional vertigo (BPPV)" also matches "BPPV"). Only the first line of
  the answer counts, up to a sentence end or commentary ("X, which is..."); a hedged list
  ("A or B", "A, B") never equals one diagnosis.
- synonym: exact, or, when the correct diagnosis is known to a rule pack (it is a name,
  synonym or ICD-10 id in `Simulator.load().diagnosis_index`), graded by the simulator's
  verifier (`simulator.verify.grade_diagnosis`: every pack name and synonym counts, one
  diagnosis only).
The summary also counts the cases whose diagnosis a pack knows (`known_to_pack`).

Limits: AgentClinic is meant as a multi-turn dialogue with patient and measurement agents; here
the model sees every finding at once (a static OSCE), which is easier than the dialogue.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from azmed.envs.base import Verdict
from azmed.eval.harness import Item, Suite, SuiteDataError, group_rates, mean, scored, shared_simulator
from azmed.real_cases import render_findings
from simulator.readers import InputError, loads_json

TRUTH_KEY = "Correct_Diagnosis"
_HEDGE_WORDS = r"(?:most\s+|very\s+)?(?:likely|probably|possibly)\s+"
_LEAD = re.compile(
    r"^(?:(?:final|most\s+likely|likely|probable|working|primary)\s+)?(?:diagnosis|answer|dx)\s*[:\-]\s*"
    r"|^(?:the\s+|my\s+)?(?:(?:most\s+)?likely\s+|final\s+|probable\s+|working\s+|primary\s+)?diagnosis"
    r"(?:\s+(?:for|of|in)\s+(?:this|the)\s+(?:patient|case))?\s+(?:is|would\s+be)\s*:?\s*"
    r"|^(?:the\s+)?(?:patient|they)\s+(?:" + _HEDGE_WORDS + r")?(?:has|have|is\s+suffering\s+from|suffers\s+from)\s+"
    r"|^(?:this|it)\s+is\s+(?:" + _HEDGE_WORDS + r")?", re.I)
# Where the diagnosis ends and commentary starts: a sentence end (not "C. difficile", "St. X"), or
# a comma or dash followed by
# an explaining word ("X, which is...", "X - a rare..."). A comma followed by anything else is
# kept, so a list "X, Y" stays a list and never equals one diagnosis.
_COMMENTARY = (r"(?:which|who|that|a|an|the|as|because|since|given|characteri[sz]ed|caused|likely|most|probably"
               r"|possibly|with|presenting|based|consistent|explaining|this|it|i)\b")
_CLAUSE_END = re.compile(r"(?<!\b\w)(?<!\b\w\w)\.(?=\s+[A-Z]|\s*$)|(?:,|\s[-\u2013\u2014])\s*" + _COMMENTARY + r"|\s(?:which|because)\s", re.I)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+")


def normalise_diagnosis(text: str) -> str:
    """Lower case, no accents, possessives or punctuation, single spaces, no leading article.

    >>> normalise_diagnosis("Hirschsprung’s Disease."), normalise_diagnosis("Legg-Calvé-Perthes disease")
    ('hirschsprung disease', 'legg calve perthes disease')
    """
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower().replace("\u2019", "'")
    t = re.sub(r"'s\b", "", t)
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    return _ARTICLE.sub("", t)


def diagnosis_forms(text: str) -> set[str]:
    """The normalised ways a diagnosis is written: without its parenthesised part, and that
    part alone ("Neonatal RDS (NRDS)" -> {"neonatal rds", "nrds"})."""
    outside = re.sub(r"\([^)]*\)", " ", text or "")
    forms = {normalise_diagnosis(outside), *(normalise_diagnosis(p) for p in re.findall(r"\(([^)]*)\)", text or ""))}
    return {f for f in forms if f}


def answer_line(answer: str) -> str:
    """The diagnosis an answer names: its first non-empty line, without lead phrases ("The most
    likely diagnosis is"), quotes, or commentary (see `_CLAUSE_END`) outside parentheses.

    >>> answer_line('The most likely diagnosis for this patient is "Hirschsprung disease", which is rare.')
    'Hirschsprung disease'
    """
    for line in (answer or "").splitlines():
        line = line.strip().strip("*#>-\u2022 ").strip()
        if not line:
            continue
        prev = None
        while prev != line:  # "Answer: The most likely diagnosis is X"
            prev, line = line, _LEAD.sub("", line).strip().strip("\"'\u201c\u201d`* ")
        return _first_clause(line).strip().strip("\"'\u201c\u201d`* ").rstrip(".!:")
    return ""


def _first_clause(text: str) -> str:
    """`text` up to the first clause end outside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth <= 0 and _CLAUSE_END.match(text, i):
            return text[:i]
    return text


def render_case(case: dict[str, Any]) -> list[str]:
    """The case as indented "Key: value" lines, every key but `Correct_Diagnosis`."""
    return render_findings(case, list_sep="; ", skip={TRUTH_KEY})


def _find_truth(node: Any) -> str | None:
    if isinstance(node, dict):
        if isinstance(node.get(TRUTH_KEY), str):
            return node[TRUTH_KEY]
        for v in node.values():
            found = _find_truth(v)
            if found:
                return found
    return None


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """[{"line", "case", "diagnosis"}] from an AgentClinic JSONL file."""
    path = Path(path)
    if not path.is_file():
        raise SuiteDataError(f"AgentClinic JSONL {path} does not exist: pass --agentclinic-jsonl PATH (one OSCE "
                             "case a line, as AgentClinic's agentclinic_medqa.jsonl) or leave it out for the shipped copy")
    cases = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = loads_json(line)
            except InputError as exc:
                raise SuiteDataError(f"{path} line {n}: {exc}") from None
            except json.JSONDecodeError as exc:
                raise SuiteDataError(f"{path} line {n}: not JSON ({exc.msg} at column {exc.colno})") from None
            case = obj.get("OSCE_Examination", obj) if isinstance(obj, dict) else None
            truth = _find_truth(case)
            if not isinstance(case, dict) or not truth:
                raise SuiteDataError(f"{path} line {n}: no {TRUTH_KEY!r} string in the case; each line must be an "
                                     "AgentClinic OSCE case ({\"OSCE_Examination\": {..., \"Correct_Diagnosis\": ...}})")
            cases.append({"line": n, "case": case, "diagnosis": truth.strip()})
    if not cases:
        raise SuiteDataError(f"{path} holds no cases")
    return cases


class AgentClinicSuite(Suite):
    name = "agentclinic"
    group_keys = ("known_to_pack",)

    @property
    def sim(self):
        return shared_simulator()

    def pack_diagnosis(self, diagnosis: str) -> str | None:
        """The pack diagnosis id `diagnosis` names exactly (a name, synonym or ICD-10 id), else None."""
        return self.sim.diagnosis_index.lookup(diagnosis)

    def items(self, limit: int | None = None) -> list[Item]:
        cases = load_cases(self.options.jsonl)[:limit or None]
        out = []
        for c in cases:
            known = self.pack_diagnosis(c["diagnosis"])
            out.append(Item(id=f"line-{c['line']}", data=c["case"], truth=c["diagnosis"],
                            groups={"known_to_pack": "yes" if known else "no"}))
        return out

    def prompt(self, item: Item) -> str:
        case = "\n".join(render_case(item.data))
        return f"Patient case:\n{case}\n\nWhat is the most likely diagnosis? Answer with the diagnosis name only."

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        return grade(item.truth, answer, self.pack_diagnosis(item.truth), self.sim)

    def summarise(self, records):
        return {"metrics": {"exact": mean(r["exact"] for r in records),
                            "synonym": mean(r["correct"] for r in records),
                            "known_to_pack": sum(1 for r in records if r["pack_diagnosis"])},
                "groups": group_rates(records, self.group_keys, "correct")}


def grade(truth: str, answer: str, pack_id: str | None = None, sim=None) -> dict[str, Any]:
    """Record fields for one answer: `exact` and `correct` (exact or, for a diagnosis known to a
    pack, the simulator's synonym grading), with the reason."""
    line = answer_line(answer)
    if not line:
        return scored(Verdict(False, None, "empty answer", formatted=False), exact=False, pack_diagnosis=pack_id)
    exact = bool(diagnosis_forms(line) & diagnosis_forms(truth))
    if exact or pack_id is None or sim is None:
        why = "normalised exact match" if exact else f"{normalise_diagnosis(line)!r} != {normalise_diagnosis(truth)!r}"
        return scored(Verdict(exact, line, why), exact=exact, pack_diagnosis=pack_id)
    from simulator.verify import grade_diagnosis

    v = grade_diagnosis(line, pack_id, sim.diagnosis_index, {k: d.name for k, d in sim.diagnoses.items()})
    return scored(Verdict(v.correct, line, f"pack synonyms ({pack_id}): {v.why}"), exact=False, pack_diagnosis=pack_id)
