import pytest

from centralino.bot.nlu import datasets
from centralino.bot.nlu.language import detect_language
from centralino.errors import InvalidInput
from tests.bot.nlu.nlu_helpers import INTENTS


@pytest.mark.parametrize(("text", "expected"), [
    ("dov'è il mio ordine?", "it"), ("Buongiorno, vorrei annullare la prenotazione", "it"),
    ("quando arriva il pacco", "it"), ("where is my order?", "en"), ("I want to cancel my booking", "en"),
    ("my card hasn't arrived", "en"), ("ciao", "it"), ("hello", "en"),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_detect_language_falls_back_to_the_default():
    assert detect_language("12345") == "it"
    assert detect_language("12345", default="en") == "en"


def test_intents_file_with_defaults_and_per_example_languages():
    parsed = datasets.load_intents(INTENTS)
    assert parsed.language == "it"
    first = parsed.intents[0]
    assert (first.name, first.automation, first.threshold) == ("order_status", "auto", 0.6)
    assert first.answers["en"] == "Let me check your order."
    assert first.examples[0].language == "it" and first.examples[-1].language == "en"
    assert len(parsed.examples) == sum(len(i.examples) for i in parsed.intents)


def test_json_is_accepted_too():
    parsed = datasets.parse_intents('{"intents": [{"name": "a", "examples": ["x", {"text": "y", "language": "en"}]}]}')
    assert [(e.text, e.intent, e.language) for e in parsed.examples] == [("x", "a", None), ("y", "a", "en")]


@pytest.mark.parametrize(("source", "field"), [
    ("- just a list", "file"),
    ("intents: []", "intents"),
    ("intents: [{examples: [x]}]", "intents[0].name"),
    ("intents: [{name: a}, {name: a}]", "intents[1].name"),
    ("intents: [{name: a, automation: sometimes}]", "intents[0].automation"),
    ("intents: [{name: a, threshold: 2}]", "intents[0].threshold"),
    ("intents: [{name: a, examples: [ok, {language: en}]}]", "intents[0].examples[1]"),
    ("intents: [{name: a, examples: [ok, '  ']}]", "intents[0].examples[1]"),
    ("intents: [{name: a, answers: [x]}]", "intents[0].answers"),
    ("intents: {", "file"),
])
def test_invalid_intents_files_name_the_field(source, field):
    with pytest.raises(InvalidInput) as error:
        datasets.parse_intents(source)
    assert error.value.field == field


def test_shared_datasets_load_when_present():
    root = datasets.data_dir()
    if not (root / "banking_train.csv").exists():
        pytest.skip(f"the shared data sets are not at {root}")
    assert len(datasets.xsid(root, "it")) == len(datasets.xsid(root, "en")) == 300
    assert datasets.xsid(root, "it")[0].intent == datasets.xsid(root, "en")[0].intent == "weather/find"
    assert {len(v) for k, v in datasets.clinc150(root).items() if k.startswith("oos_")} >= {100}
    few = datasets.sample_per_intent(datasets.banking77(root, "test"), 2, seed=1)
    assert len(few) == 77 * 2


def test_data_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    assert datasets.data_dir() == tmp_path
    assert datasets.data_dir("/elsewhere").as_posix() == "/elsewhere"
