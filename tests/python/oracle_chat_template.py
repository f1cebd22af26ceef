"""Renders chat templates with transformers' own Jinja environment, as the expected outputs of
embedtune's template engine (tests/cpp/tokenizer/chat_template_test.cc).

Usage: oracle_chat_template.py OUTDIR (oracle_models imports CHATML for its chat models). Writes OUTDIR/cases.json: a list of {name, template,
context, expected} or {name, template, context, error: true}. Every template here is written for
these tests (none is copied from a model repository); the first ones have the shape of the chat
templates decoder embedders ship (ChatML roles, a namespace that walks the messages backwards,
tool calls as JSON, reasoning split off the content), the rest exercise one construct each.
Expected values come from transformers.utils.chat_template_utils._compile_jinja_template, the
environment apply_chat_template renders with (trim_blocks, lstrip_blocks, loopcontrols, its
tojson, raise_exception, namespace).
"""
import json
import pathlib
import sys

from transformers.utils.chat_template_utils import _compile_jinja_template

CHATML = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if message.role == "system" and loop.first %}
        {#- rendered before the loop #}
    {%- elif (message.role == "user") or (message.role == "system") %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index and (loop.last or reasoning) %}
            {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- else %}
        {{- raise_exception('Unknown role: ' + message.role) }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
"""

# Content as a list of parts, a macro, and the BOS token from the special tokens.
STRUCTURED = """{{ bos_token }}{% macro render(content) -%}
{%- if content is string -%}{{ content }}{%- else -%}
{%- for part in content if part.type == 'text' -%}{{ part.text }}{%- if not loop.last %} {% endif -%}{%- endfor -%}
{%- endif -%}
{%- endmacro %}
{% for message in messages %}
  [{{ message['role'] | upper }}] {{ render(message['content']) | trim }}
{% endfor %}
{% if add_generation_prompt %}[ASSISTANT]{% endif %}{{ eos_token }}
"""

USER = [{"role": "user", "content": "What does functools.lru_cache do?"}]
SYSTEM_USER = [{"role": "system", "content": "Instruct: retrieve passages that answer the question"},
               {"role": "user", "content": "  Ünïcödé question\twith tabs  "}]
TOOLS = [{"type": "function", "function": {"name": "search", "description": "Search the docs ✓",
                                           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Find the docs"},
    {"role": "assistant", "content": "<think>\nlooking\n</think>\n\nCalling the tool",
     "tool_calls": [{"function": {"name": "search", "arguments": {"q": "lru_cache", "n": 3, "exact": True}}}]},
    {"role": "tool", "content": "functools.lru_cache(maxsize=128)"},
    {"role": "tool", "content": "second result"},
    {"role": "assistant", "content": "It memoises.", "reasoning_content": "easy"},
    {"role": "user", "content": "<tool_response>x</tool_response>"},
]

CASES = [
    ("chatml user", CHATML, {"messages": USER, "add_generation_prompt": False}),
    ("chatml system user", CHATML, {"messages": SYSTEM_USER, "add_generation_prompt": False}),
    ("chatml generation prompt", CHATML, {"messages": USER, "add_generation_prompt": True, "enable_thinking": False}),
    ("chatml tools conversation", CHATML, {"messages": CONVERSATION, "tools": TOOLS, "add_generation_prompt": True}),
    ("chatml conversation", CHATML, {"messages": CONVERSATION, "tools": None, "add_generation_prompt": False}),
    ("chatml unknown role", CHATML, {"messages": [{"role": "robot", "content": "x"}]}),
    ("structured", STRUCTURED, {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]},
                                             {"role": "assistant", "content": " flat  "}],
                                "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": True}),
    # Whitespace control: trim_blocks, lstrip_blocks, '-' and '+' on either side, comments.
    ("trim and lstrip", "a\n  {% if true %}\n  b\n  {% endif %}\nc\n", {}),
    ("minus both sides", "a  \n {%- if true -%} \n b \n {%- endif -%}  \n c", {}),
    ("plus keeps", "a\n  {%+ if true +%}\nb\n  {%+ endif %}\nc", {}),
    ("variable tags keep whitespace", "x\n  {{ 'y' }}\n  z\n", {}),
    ("comments", "a\n  {# note #}\nb {#- trimmed -#}   c\n{# last #}", {}),
    ("mid-line block", "a {% if true %}b{% endif %}\n c", {}),
    ("crlf source", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n", {}),
    ("two trailing newlines", "a\n\n", {}),
    # Expressions.
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 - 4 }} {{ 1.5 + 1 }} {{ 10 / 4 * 2 }}", {}),
    ("concat and strings", "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ 'x' + 'y' }} {{ [1] + [2, 3] }}", {}),
    ("floats", "{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 123456789.0 }} {{ 1e16 }} {{ 2.0 }} {{ -0.5 }} {{ 3 / 3 }}", {}),
    ("reprs", "{{ (1, 'a') }} {{ (1,) }} {{ [1, 'it\\'s', none, true, 2.5] }} {{ {'k': [1, {'n': none}]} }} {{ x }}", {"x": {"a": "b\nc"}}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'b' }} {{ [1, 2] < [1, 3] }} {{ none == none }}", {}),
    ("membership", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 'x' in missing }}", {}),
    ("logic values", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ not [] }} {{ none or [] }}|{{ 'y' if false }}|{{ 'y' if 1 else 'n' }}", {}),
    ("undefined", "[{{ foo }}] {{ foo is defined }} {{ foo is undefined }} {{ bar.baz is defined }} {{ foo | default('d') }} {{ '' | default('e', true) }} {{ foo | length }}", {"bar": {}}),
    ("undefined attribute fails", "{{ foo.bar }}", {}),
    ("none attribute", "[{{ x.y }}]", {"x": None}),
    ("subscripts", "{{ m['role'] }} {{ m.role }} {{ l[0] }} {{ l[-1] }} [{{ l[5] }}] {{ l.1 }} {{ m.get('x', 'dflt') }} {{ m.get('role') }} {{ 'héllo'[1] }}", {"m": {"role": "user"}, "l": [1, 2, 3]}),
    ("slices", "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[5:] }} {{ 'héllo'[::-1] }} {{ 'héllo'[1:3] }} {{ l[-2:] }} {{ l[3:0:-1] }}", {"l": [1, 2, 3, 4]}),
    ("dict methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys() | list }} {{ d.values() | list }} {% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": [2], "m": None}}),
    # Strings.
    ("string methods", "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip(' \\t') }}|{{ s.upper() }}|{{ s.lower() }}|{{ s.title() }}|{{ s.capitalize() }}", {"s": "  héllo wörld ß\t"}),
    ("unicode case", "{{ 'straße'.upper() }} {{ 'ΣΑΣ ΟΔΟΣ'.lower() }} {{ 'ǆemal 1st x'.title() }} {{ 'İx'.lower() }} {{ 'ǆ'.capitalize() }} {{ 'hello-wörld (ßx) [y]' | title }} {{ 'ß' | upper }} {{ 'ABC'.isupper() }} {{ '12'.islower() }} {{ 'ab1' is lower }} {{ 'AB' is upper }}", {}),
    ("split", "{{ s.split() }} {{ s.split(' ') }} {{ s.split(none, 1) }} {{ s.rsplit(none, 1) }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ''.split() }}", {"s": "  a b\n c  "}),
    ("string predicates", "{{ s.startswith('ab') }} {{ s.endswith(('x', 'cd')) }} {{ s.find('c') }} {{ s.find('z') }} {{ s.count('b') }} {{ s.replace('b', 'B') }} {{ s.replace('', '-') }} {{ '-'.join(['a', 'b']) }} {{ '12'.isdigit() }} {{ 'a1'.isalpha() }}", {"s": "abcbd"}),
    ("splitlines", "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'a\\nb\\n'.splitlines(true) }}", {}),
    ("escapes in literals", "{{ 'tab\\there' }}|{{ \"q\\\"uote\" }}|{{ 'uni\\u00e9' }}|{{ 'adjacent' 'strings' }}", {}),
    # Filters.
    ("filters 1", "{{ l | length }} {{ l | first }} {{ l | last }} {{ l | join(', ') }} {{ l | reverse | list }} {{ l | sort }} {{ l | sort(reverse=true) }} {{ l | max }} {{ l | min }} {{ l | sum }} {{ l | unique | list }}", {"l": [3, 1, 2, 3]}),
    ("filters 2", "{{ s | upper }} {{ s | lower }} {{ s | title }} {{ s | capitalize }} {{ s | trim }} {{ s | replace('o', '0') }} {{ s | length }} {{ s | wordcount }} {{ s | reverse }}", {"s": " hello wörld "}),
    ("filters 3", "{{ 3.7 | int }} {{ '42' | int }} {{ 'x' | int }} {{ '2.5' | float }} {{ 5 | float }} {{ -3 | abs }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 42 | string }} {{ none | string }}", {}),
    ("tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ [1.0, 2, none, true] | tojson }}|{{ d | tojson(sort_keys=true) }}|{{ {} | tojson }}|{{ [] | tojson(indent=2) }}|{{ 'é😀\x7f' | tojson(ensure_ascii=true) }}|{{ d | tojson(separators=(',', ':')) }}", {"d": {"b": [1, {"c": "ü"}], "a": None}}),
    ("select and map", "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ msgs | rejectattr('role', 'eq', 'user') | list | length }} {{ [0, 1, 2, ''] | select | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3] | reject('even') | list }} {{ ['a', 'B'] | map('upper') | list }} {{ msgs | map(attribute='missing', default='-') | join }}", {"msgs": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}, {"role": "user", "content": "c"}]}),
    ("items and dictsort-free", "{% for k, v in d | items %}{{ k }}:{{ v }} {% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(width=3, blank=true) }}", {}),
    ("escape", "{{ '<a href=\"x\">&\\'' | e }}", {}),
    ("filter block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    # Tests.
    ("tests", "{{ 1 is odd }} {{ 2 is even }} {{ 'a' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} {{ none is none }} {{ {} is mapping }} {{ [] is iterable }} {{ 'x' is iterable }} {{ 3 is divisibleby 3 }} {{ 'ab' is lower }} {{ 1 is in [1] }} {{ 2 is equalto 2 }} {{ x is sameas false }} {{ x is false }} {{ 5 is gt 3 }} {{ 'x' is not string }} {{ raise_exception is callable }}", {"x": False}),
    # Statements.
    ("for loop variables", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}]{{ loop.cycle('a', 'b') }} {% endfor %}", {"l": ["p", "q", "r"]}),
    ("for else and filter", "{% for x in [] %}x{% else %}empty{% endfor %} {% for x in l if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}", {"l": [1, 2, 3]}),
    ("break and continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %} {{ range(3) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("scoping", "{% set x = 5 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}|{{ x }}|{% if true %}{% set y = 3 %}{% endif %}{{ y }}", {}),
    ("namespace", "{% set ns = namespace(found=false, n=0) %}{% for m in l %}{% if m > 1 %}{% set ns.found = true %}{% set ns.n = ns.n + m %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}", {"l": [1, 2, 3]}),
    ("set block and tuple", "{% set greeting %}hi {{ name }}{% endset %}{{ greeting | upper }} {% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = (1, 2) %}{{ t }}", {"name": "bob"}),
    ("macros", "{% macro tag(name, value='v', sep=':') %}<{{ name }}{{ sep }}{{ value }}{{ outer }}>{% endmacro %}{% set outer = '!' %}{{ tag('a') }}{{ tag('b', 'w') }}{{ tag('c', sep='=') }}", {}),
    ("dict and literals", "{% set d = {'a': 1, 'b': [true, none]} %}{{ d.a }} {{ d['b'][0] }} {{ dict(x=1, y='z') }} {{ d | length }}", {}),
    ("messages loop", "{% for m in messages %}{{ m.role }}:{{ m.content }}{% if not loop.last %}\n{% endif %}{% endfor %}", {"messages": SYSTEM_USER}),
    ("raise", "{{ raise_exception('no system messages') }}", {}),
    ("type error", "{{ 1 + 'a' }}", {}),
    ("unknown filter", "{{ x | frobnicate }}", {}),
    ("syntax error", "{% if x %}unclosed", {}),
    ("bad tag", "{{ 1 + }}", {}),
]


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, template, context in CASES:
        case = {"name": name, "template": template, "context": context}
        try:
            case["expected"] = _compile_jinja_template(template).render(**context)
        except Exception as error:  # noqa: BLE001 - the oracle's failures are the expected ones
            case["error"] = True
            case["oracle_error"] = f"{type(error).__name__}: {error}"
        cases.append(case)
    (out / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"oracle_chat_template: {len(cases)} cases ({sum('error' in c for c in cases)} errors) in {out}")


if __name__ == "__main__":
    main()
