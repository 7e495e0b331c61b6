"""Mutants that cannot change what aliassync does: left out of the scores, each with the reason.

Keyed by the mutant's name (`python -m mutation --list` prints them). A
name that no longer matches a mutant makes the run fail, so that this list
is kept as the code changes.
"""
from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    "aliassync/core/graph.py:run:drop keyword:max_workers:ThreadPoolExecutor(max_workers=slots)#1":
        "the pool's size is only an upper bound: the run never submits more than `slots` actions at once, so a "
        "larger default pool runs exactly the same actions at the same times",
    "aliassync/core/planner.py:_display_order:constant:2->3:2#1":
        "the group numbers only order the groups (0 before 1 before 2): 3 for the last group sorts the same",
    "aliassync/core/refusals.py:delete_limit:boolean:and->or:count and managed#1":
        "a delete is of a managed live object, so a kind with deletes has at least as many managed: `or` differs "
        "only where there are no deletes of that kind, and 0% is never over a limit of 0 or more",
    "aliassync/core/phone.py:PhonePart:constant:0->1:0#1":
        "plan_phones, the only maker of a PhonePart, always gives managed_live; the default is never used",
    "aliassync/core/phone.py:matches:return:value->None:return False#1":
        "every caller tests the answer for truth (if, and, not), where None and False are the same",
    "aliassync/core/phone.py:matches:return:value->None:return False#2":
        "every caller tests the answer for truth (if, and, not), where None and False are the same",
    "aliassync/output/fit.py:clipped:constant:0->1:0#1":
        "rfind from 1 instead of 0 differs only for a separator at index 0, which `cut > 0` refuses either way "
        "(a hard cut at the limit)",
    "aliassync/output/planfile.py:save:drop keyword:encoding:os.fdopen(handle, 'w', encoding='utf-8')#1":
        "json.dump escapes every non-ASCII character, so the plan file is ASCII: any ASCII-compatible locale "
        "encoding writes the same bytes",
    "aliassync/output/planfile.py:read_json:drop keyword:encoding:open(path, encoding='utf-8')#1":
        "what it reads aliassync wrote as ASCII: a plan file (see save) or --format json output (json.dumps "
        "escapes non-ASCII); a saved plan that is not ASCII fails its checksum either way",
    "aliassync/output/planfile.py:_plan_marker:constant:4096->4097:4096#1":
        "the first 4 KB only decide whether the file is worth parsing as JSON; a plan file starts with `{` (it "
        "differs only for a file with over 4 KB of whitespace before its first brace, which aliassync never writes)",
    "aliassync/output/planfile.py:_plan_marker:return:value->None:return False#1":
        "its only caller tests the answer for truth, where None and False are the same",
    "aliassync/output/planfile.py:_plan_marker:return:value->None:return False#2":
        "its only caller tests the answer for truth, where None and False are the same",
    "aliassync/core/planner.py:_with_phones:boolean:and->or:a.kind == 'create' and any((key.startswith('delete:phone:...#1":
        "only a create waits for a phone delete, so every phone action depending on one is a create: `or` adds the "
        "logins of plain creates, which have no delete for the display order to move",
}
