"""``{% row_url %}``: the URL reverse() gives, built from one reversal per name."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from retros.templatetags.row_urls import row_url


@pytest.mark.parametrize(
    "name",
    ["retros:occurrence_vote", "retros:issue_detail", "retros:retro_board", "retros:fix_edit"],
)
@pytest.mark.parametrize("pk", [1, 42, 9_876_543_210, 123456789012])
def test_it_gives_what_reverse_gives(name, pk):
    assert row_url(name, pk) == reverse(name, args=[pk])


def test_it_follows_the_script_prefix():
    try:
        set_script_prefix("/recur/")
        assert row_url("retros:issue_detail", 7) == reverse("retros:issue_detail", args=[7])
        assert row_url("retros:issue_detail", 7).startswith("/recur/")
    finally:
        clear_script_prefix()
    assert not row_url("retros:issue_detail", 7).startswith("/recur/")


def test_in_a_template_it_renders_and_can_be_named():
    template = Template(
        "{% load row_urls %}{% row_url 'retros:issue_detail' n as here %}<a href='{{ here }}'>"
    )

    html = template.render(Context({"n": 5}))

    assert html == f"<a href='{reverse('retros:issue_detail', args=[5])}'>"


def test_a_url_without_one_integer_is_refused_as_reverse_refuses_it():
    with pytest.raises(NoReverseMatch):
        row_url("retros:issue_list", 3)
