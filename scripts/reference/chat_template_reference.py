"""Writes chat-template golden values for the engine's tests: conversations rendered by Jinja2
exactly as Hugging Face's `apply_chat_template` renders them (sandboxed environment, trim_blocks,
lstrip_blocks, `raise_exception`, `strftime_now`), and, for the default model's own template, the
prompt's token ids from llama.cpp's tokenizer (llama-cpp-python, special tokens parsed).

Templates: the default model's (read from its GGUF), llama-cpp-python's built-in Llama 3, Mistral
and ChatML templates, and small ones written here to exercise the Jinja features real templates use.

    python3 scripts/reference/chat_template_reference.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/LLMEngineTests/Reference/chat-template-reference.json
"""
import datetime
import importlib.metadata
import json
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from llama_cpp import Llama, llama_chat_format

model_path, out_path = sys.argv[1], sys.argv[2]
llm = Llama(model_path=model_path, n_ctx=256, vocab_only=True, verbose=False)
default_template = llm.metadata["tokenizer.chat_template"]
FIXED_NOW = datetime.datetime(2026, 11, 25, 9, 30, 0)


class TemplateRefused(Exception):
    pass


def raise_exception(message):
    raise TemplateRefused(message)


environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
environment.globals["raise_exception"] = raise_exception
environment.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)

FEATURES = """{%- set ns = namespace(system='', count=0) -%}
{%- for message in messages -%}
  {%- if message.role == 'system' -%}{%- set ns.system = message.content | trim -%}{%- endif -%}
  {%- set ns.count = ns.count + 1 -%}
{%- endfor -%}
<s>{{ ns.system | upper if ns.system else 'NO SYSTEM' }} ({{ ns.count }} of {{ messages | length }})
{% for message in messages[1:] if message.role != 'system' %}
  {% if loop.first %}[first]{% elif loop.last %}[last]{% else %}[{{ loop.index }}/{{ loop.length }}]{% endif %}
  {{- ' ' ~ message['role'] | capitalize ~ ': ' + message.content.strip() }}
  {%- if message.content.startswith('Hi') %} (greeting){% endif %}

{% endfor %}
{%- macro tag(name, closing=false) -%}<{{ '/' if closing }}{{ name }}>{%- endmacro -%}
{{ tag('end') }}{{ tag('end', closing=true) }} {{ [1, 2, 3] | join('-') }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 'x' * 3 }}
{{ {'a': 1, 'b': 'two'} | tojson }} {{ messages | map(attribute='role') | join(',') }}
{{ strftime_now('%d %B %Y') }} {{ 'yes' if 'user' in messages | map(attribute='role') | list else 'no' }}
{%- if add_generation_prompt %}
>>> {% endif -%}"""

TEMPLATES = {
    "default-model": default_template,
    "chatml": llama_chat_format.CHATML_CHAT_TEMPLATE,
    "llama3": llama_chat_format.LLAMA3_INSTRUCT_CHAT_TEMPLATE,
    "mistral": llama_chat_format.MISTRAL_INSTRUCT_CHAT_TEMPLATE,
    "features": FEATURES,
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are a concise assistant."},
     {"role": "user", "content": "Write a haiku about the sea."}],
    [{"role": "user", "content": "Hi there!"},
     {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "  Tell me about <|im_start|> tokens and {{ braces }} \u00e9\u00e8 \U0001F600  "}],
    [{"role": "system", "content": "\n Be brief. \n"},
     {"role": "user", "content": "Line one\nLine two"},
     {"role": "assistant", "content": "Sure."},
     {"role": "user", "content": "Thanks"}],
]

cases = []
for name, template in TEMPLATES.items():
    compiled = environment.from_string(template)
    for conversation in CONVERSATIONS:
        for add_generation_prompt in (True, False):
            case = {"template": name, "source": template, "messages": conversation,
                    "add_generation_prompt": add_generation_prompt, "bos_token": "<s>", "eos_token": "</s>"}
            try:
                case["rendered"] = compiled.render(messages=conversation, add_generation_prompt=add_generation_prompt,
                                                   bos_token="<s>", eos_token="</s>")
            except TemplateRefused as refused:
                case["error"] = str(refused)
            cases.append(case)

# The default model's prompts as llama.cpp tokenizes them, its own BOS/EOS strings in the template.
bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
eos = llm._model.token_get_text(llm.token_eos())
tokenized = []
for conversation in CONVERSATIONS:
    text = environment.from_string(default_template).render(
        messages=conversation, add_generation_prompt=True, bos_token=bos, eos_token=eos)
    # The one conversation that writes a marker in its text is left out: we keep it text on purpose.
    if "<|im_start|>" in "".join(m["content"] for m in conversation):
        continue
    tokenized.append({"messages": conversation, "token_ids": llm.tokenize(text.encode(), add_bos=False, special=True)})

with open(out_path, "w") as out:
    json.dump({"jinja2": jinja2.__version__, "llama_cpp_python": importlib.metadata.version("llama-cpp-python"),
               "now": FIXED_NOW.isoformat(), "cases": cases, "default_model_tokens": tokenized},
              out, indent=1, ensure_ascii=False)
    out.write("\n")
print(f"wrote {len(cases)} renderings and {len(tokenized)} tokenized prompts to {out_path}")
