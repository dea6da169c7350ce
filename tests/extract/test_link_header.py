import pytest

from airflow_provider_opslevel.extract.errors import LinkHeaderError
from airflow_provider_opslevel.extract.link_header import parse_link_header

SENTRY_FIRST_PAGE = (
    '<https://sentry.io/api/0/organizations/acme/projects/?&cursor=100:-1:1>; rel="previous"; '
    'results="false"; cursor="100:-1:1", '
    '<https://sentry.io/api/0/organizations/acme/projects/?&cursor=100:1:0>; rel="next"; '
    'results="true"; cursor="100:1:0"'
)


def test_sentry_link_header_is_keyed_by_rel_with_target_and_attributes():
    links = parse_link_header(SENTRY_FIRST_PAGE)
    assert links["next"] == {
        "target_url": "https://sentry.io/api/0/organizations/acme/projects/?&cursor=100:1:0",
        "attributes": {"results": "true", "cursor": "100:1:0"},
    }
    assert links["previous"]["attributes"]["results"] == "false"


def test_commas_and_semicolons_inside_quotes_and_urls_do_not_split():
    value = '<https://a.example/x?a=1,2;b=3>; rel="next"; title="one, two; three"'
    links = parse_link_header(value)
    assert links["next"]["target_url"] == "https://a.example/x?a=1,2;b=3"
    assert links["next"]["attributes"]["title"] == "one, two; three"


def test_several_relation_types_and_unquoted_values():
    links = parse_link_header('<https://a.example/p2>; rel="next last"; results=true')
    assert links["next"]["target_url"] == links["last"]["target_url"] == "https://a.example/p2"
    assert links["last"]["attributes"] == {"results": "true"}


def test_relative_targets_resolve_against_the_request_url():
    links = parse_link_header(
        '</api/0/projects/?&cursor=0:100:0>; rel="next"', "https://sentry.io/api/0/projects/"
    )
    assert links["next"]["target_url"] == "https://sentry.io/api/0/projects/?&cursor=0:100:0"


def test_escaped_quotes_and_case_insensitive_rel():
    links = parse_link_header(r'<https://x/>; REL="Next"; title="say \"hi\""')
    assert links["next"]["attributes"]["title"] == 'say "hi"'


@pytest.mark.parametrize(
    "value",
    [
        'https://sentry.io/api/0/projects/; rel="next"',  # no angle brackets
        '<https://sentry.io/api/0/projects/>; rel="next" garbage',
        '<https://sentry.io/api/0/projects/; rel="next"',  # unterminated target
    ],
)
def test_malformed_headers_raise_a_clear_error(value):
    with pytest.raises(LinkHeaderError, match="malformed Link header"):
        parse_link_header(value)


def test_empty_header_has_no_links():
    assert parse_link_header("") == {}
    assert parse_link_header("   ") == {}
