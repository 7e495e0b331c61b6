"""The YAML reader's short cuts: plain scalars read as YAML would, without asking YAML every time."""
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from aliassync.files.loader import TYPED_KEYS, as_text
from aliassync.files.yaml_reader import Plain, _Scalars


def _event(text: str) -> yaml.ScalarEvent:
    return yaml.ScalarEvent(None, None, (True, False), text)


def _the_long_way(scalars: _Scalars, text: str):
    """What the reader kept before the short cuts: YAML's value, made a Plain if not text or null."""
    event = _event(text)
    return scalars.keep_text(event, scalars.value(event))


# Plain scalars starting with every kind of first character YAML looks at: numbers, booleans,
# nulls, dates, and text that only looks like one of them.
_PLAIN = st.one_of(
    st.sampled_from(["0100", "8000001", "1e3", "1_000", "0x1F", "0o17", "1:20", ".5", ".inf", "-.inf", ".nan",
                     "+1", "-0", "2001-12-14", "2001-13-45", "yes", "Yes", "no", "NO", "on", "off", "true",
                     "False", "y", "n", "null", "Null", "~", "", "100a", "sales1", "no-way", "1.2.3", "-", "-a"]),
    st.text(alphabet="0123456789.+-_:eEyYnNoOtTfFxX~ab", min_size=1, max_size=8),
)


@settings(max_examples=2000, deadline=None)
@given(text=_PLAIN, key=st.sampled_from(["phone_logins", "alias_name", "version", "prune", "max_deletes"]))
def test_a_plain_scalar_ends_as_the_same_value_with_or_without_the_short_cuts(text, key):
    scalars = _Scalars()
    try:
        long_way = as_text(_the_long_way(scalars, text), TYPED_KEYS, key)
    except yaml.YAMLError:
        return   # such a scalar is refused either way (the reader reports it)
    assert as_text(scalars.kept(_event(text)), TYPED_KEYS, key) == long_way
    assert type(as_text(scalars.kept(_event(text)), TYPED_KEYS, key)) is type(long_way)


def test_a_numeric_login_is_kept_as_written_without_being_read_as_a_number():
    kept = _Scalars().kept(_event("0100"))
    assert isinstance(kept, Plain) and kept == "0100"
    assert kept.value == 64          # YAML 1.1 octal, worked out only when asked


def test_text_no_resolver_looks_at_is_kept_as_it_is():
    kept = _Scalars().kept(_event("sales000001"))
    assert type(kept) is str and kept == "sales000001"


def test_the_keys_of_named_top_level_mappings_have_their_places_noted_while_reading():
    from aliassync.core.model import Location
    from aliassync.files.yaml_reader import read

    text = ("version: 1\naliases:\n  sales1: {alias_name: S}\nphones:\n  100a: {extension: '100'}\n"
            "  0100: {extension: '101'}\nstations: {\"200\": {servers: all}}\n")
    places = {"phones": {}, "stations": {}}
    read(text, "f.yaml", [], places)
    assert places == {"phones": {"100a": Location("f.yaml", 5, 3), "0100": Location("f.yaml", 6, 3)},
                      "stations": {"200": Location("f.yaml", 7, 12)}}
