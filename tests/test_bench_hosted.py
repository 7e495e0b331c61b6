"""The hosted-mode benchmark at a small size: its request counts are the documented ones."""
from bench.hosted import measure


def test_a_hosted_plan_costs_4_pages_plus_the_inactive_phones_then_one_page_per_phone():
    aliases_only, phones = measure(aliases=10, repeat=1)
    # 10 aliases over 30 phones, one of them inactive (the third phone of alias 0)
    assert (aliases_only.what, aliases_only.requests, aliases_only.actions) == ("aliases only", 4 + 1, 1)
    # then the server list and one page per phone; the inactive phone is declared active: one update more
    assert (phones.what, phones.requests, phones.actions) == ("phones declared", 4 + 1 + 1 + 30, 2)
