"""Parse Command-style query strings into the syntax tree of `orchjobs.query.ast`.

Grammar (EBNF; keywords and operators are case-insensitive, whitespace separates tokens):

    query      = [ or_expr ] ;
    or_expr    = and_expr , { "OR" , and_expr } ;
    and_expr   = unary , { "AND" , unary } ;
    unary      = "NOT" , unary | primary ;
    primary    = "(" , or_expr , ")" | comparison ;
    comparison = field , operator , value
               | field , ( "-in" | "-notin" ) , "(" , item , { "," , item } , ")" ;   (at most 100 items)
    field      = ( letter | "_" ) , { letter | digit | "_" } ;
    operator   = "-eq" | "-ne" | "-contains" | "-notcontains" | "-startswith" | "-endswith"
               | "-lt" | "-le" | "-gt" | "-ge" ;
    value      = quoted | "NULL" | bare ;
    item       = quoted | bare but no comma ;   (not NULL: a list holds values)
    quoted     = '"' , { any char but '"' | '""' } , '"'
               | "'" , { any char but "'" | "''" } , "'" ;
    bare       = char but whitespace, quote or parenthesis , { same } ;   (not AND, OR, NOT)

AND binds tighter than OR; NOT binds tighter than AND (`NOT`, `-in` and `-notin` are extensions beyond
Command). A bare NULL is the null value; a quoted "NULL" is the text NULL. The parser knows no fields: names are
resolved by the compiler.

Every failure is a QuerySyntaxError with a 0-based character position; no other exception
escapes `parse`, whatever the input.
"""

from typing import NoReturn

from orchjobs.errors import QuerySyntaxError
from orchjobs.query.ast import And, Comparison, ListValue, Membership, Node, Not, Or

DEFAULT_MAX_LENGTH = 8192
# Complexity bounds, apart from length: each condition is one more test of every candidate row (a `-contains` one
# a scan of text), so a few dozen of them in 8 KB made a query run for minutes; and nesting costs stack depth here
# and in the SQL compiler. Real filters use a handful of conditions and two or three levels.
MAX_TERMS = 64
MAX_NESTING = 32
# A `-in` list is one condition (one IN with a bound parameter per value); the cap keeps it one cheap test.
MAX_LIST_VALUES = 100

OPERATORS: tuple[str, ...] = (
    "-eq",
    "-ne",
    "-contains",
    "-notcontains",
    "-startswith",
    "-endswith",
    "-lt",
    "-le",
    "-gt",
    "-ge",
    "-in",
    "-notin",
)
LIST_OPERATORS: tuple[str, ...] = ("-in", "-notin")
KEYWORDS = frozenset({"AND", "OR", "NOT", "NULL"})

_QUOTES = "\"'"
_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_EXPECTED_OPERATOR = "an operator (one of: " + ", ".join(OPERATORS) + ")"
_EXPECTED_CONDITION = "a condition such as Field -eq value, NOT or an opening parenthesis"
_EXPECTED_FIELD = "a field name"
_EXPECTED_VALUE = 'a value (a quoted string such as "text", a number, a bare word or NULL)'
_EXPECTED_LIST = 'a parenthesized list of values such as ("a", "b", 3)'
_EXPECTED_ITEM = 'a value (a quoted string such as "text", a number or a bare word)'


def parse(text: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> Node | None:
    """The tree of `text`, or None when the query is blank (no filter)."""
    _check_encoding_and_length(text, max_length)
    if not text.strip():
        return None
    return _Parser(text).parse_query()


def _check_encoding_and_length(text: str, max_length: int) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:  # lone surrogates cannot reach a database either
        raise QuerySyntaxError("the query contains an invalid character", position=error.start) from None
    if size > max_length:
        # The position is a character offset like every other: that of the first character past the limit.
        within = len(text.encode("utf-8")[:max_length].decode("utf-8", "ignore"))
        raise QuerySyntaxError(f"the query is longer than the limit of {max_length} bytes", position=within)
    nul = text.find("\0")
    if nul >= 0:
        raise QuerySyntaxError("the query contains a NUL character", position=nul)


class _Parser:
    """Recursive descent over the raw text; tokens are read on demand because what a token
    may be (operator, value, keyword) depends on where the parser is."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.open_parens = 0
        self.terms = 0

    # -- grammar rules ---------------------------------------------------------------------

    def parse_query(self) -> Node:
        node = self._or_expr()
        self._skip_whitespace()
        if not self._at_end():
            self._fail_trailing()
        return node

    def _or_expr(self) -> Node:
        items = [self._and_expr()]
        while self._accept_keyword("OR"):
            items.append(self._and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and_expr(self) -> Node:
        items = [self._unary()]
        while self._accept_keyword("AND"):
            items.append(self._unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _unary(self) -> Node:
        self._skip_whitespace()
        start = self.pos
        if self._peek_word().upper() != "NOT":
            return self._primary()
        self.pos += 3
        self._enter(start)
        operand = self._unary()
        self.depth -= 1
        return Not(operand)

    def _primary(self) -> Node:
        self._skip_whitespace()
        if self._at_end():
            raise QuerySyntaxError(
                "the query ends where a condition was expected",
                position=self.pos,
                expected=_EXPECTED_CONDITION,
            )
        char = self.text[self.pos]
        if char == "(":
            return self._group()
        if char == ")":
            self._fail_closing_parenthesis()
        return self._comparison()

    def _group(self) -> Node:
        start = self.pos
        self.pos += 1
        self._skip_whitespace()
        if self._peek_char() == ")":
            raise QuerySyntaxError("empty parentheses", position=start, expected=_EXPECTED_CONDITION)
        self._enter(start)
        self.open_parens += 1
        node = self._or_expr()
        self._expect_closing_parenthesis(start)
        self.open_parens -= 1
        self.depth -= 1
        return node

    def _comparison(self) -> Comparison | Membership:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QuerySyntaxError(
                f"the query has more than {MAX_TERMS} conditions; split it or narrow it", position=self.pos
            )
        field, field_position = self._field()
        op, op_position = self._operator(field)
        if op in LIST_OPERATORS:
            open_position = self._open_list(op)
            values = self._list_items(op, open_position)
            return Membership(field, op, values, field_position, op_position, open_position)
        value, quoted, value_position = self._value(op)
        return Comparison(field, op, value, quoted, field_position, op_position, value_position)

    def _open_list(self, op: str) -> int:
        self._skip_whitespace()
        start = self.pos
        if self._peek_char() != "(":
            raise QuerySyntaxError(
                f"{op} needs a list of values in parentheses, not {self._describe_next()}",
                position=start,
                expected=_EXPECTED_LIST,
            )
        self.pos += 1
        self._skip_whitespace()
        if self._peek_char() == ")":
            raise QuerySyntaxError(f"empty list after {op}", position=start, expected=_EXPECTED_ITEM)
        return start

    def _list_items(self, op: str, opened_at: int) -> tuple[ListValue, ...]:
        items: list[ListValue] = []
        while True:
            self._skip_whitespace()
            if len(items) == MAX_LIST_VALUES:
                raise QuerySyntaxError(
                    f"the list after {op} has more than {MAX_LIST_VALUES} values; split the query",
                    position=self.pos,
                )
            items.append(self._list_item(op))
            self._skip_whitespace()
            char = self._peek_char()
            if char == ")":
                self.pos += 1
                return tuple(items)
            if char == ",":
                self.pos += 1
                continue
            if not char:
                raise QuerySyntaxError(
                    f"the list opened at position {opened_at} is not closed",
                    position=self.pos,
                    expected="a comma or a closing parenthesis",
                )
            raise QuerySyntaxError(
                f"unexpected {self._describe_next()} in the list after {op}",
                position=self.pos,
                expected="a comma or a closing parenthesis",
            )

    def _list_item(self, op: str) -> ListValue:
        start = self.pos
        char = self._peek_char()
        if char and char in _QUOTES:
            return ListValue(self._read_quoted(), True, start)
        word = self._read_bare_word(stops="(),")
        if not word:
            raise QuerySyntaxError(
                f"missing value in the list after {op} (unexpected {self._describe_next()})",
                position=start,
                expected=_EXPECTED_ITEM,
            )
        upper = word.upper()
        if upper == "NULL":
            raise QuerySyntaxError(
                f"NULL cannot be in the list after {op}; write Field -eq NULL or Field -ne NULL",
                position=start,
                expected=_EXPECTED_ITEM,
            )
        if upper in KEYWORDS:
            raise QuerySyntaxError(
                f"{upper} is a keyword; quote it to use it as text", position=start, expected=_EXPECTED_ITEM
            )
        return ListValue(word, False, start)

    # -- tokens ----------------------------------------------------------------------------

    def _field(self) -> tuple[str, int]:
        start = self.pos
        name = "" if self._peek_char().isdigit() else self._read_identifier()
        if not name:
            raise QuerySyntaxError(
                f"unexpected {self._describe_next()} where a field name was expected",
                position=start,
                expected=_EXPECTED_FIELD,
            )
        if name.upper() in KEYWORDS:
            raise QuerySyntaxError(
                f"{name.upper()} is a keyword, not a field name", position=start, expected=_EXPECTED_FIELD
            )
        return name, start

    def _operator(self, field: str) -> tuple[str, int]:
        self._skip_whitespace()
        start = self.pos
        if self._at_end():
            raise QuerySyntaxError(f"missing operator after {field}", position=start, expected=_EXPECTED_OPERATOR)
        if self.text[start] != "-":
            raise QuerySyntaxError(
                f"unexpected {self._describe_next()} after {field}",
                position=start,
                expected=_EXPECTED_OPERATOR,
            )
        self.pos += 1
        op = "-" + self._read_identifier()
        if op.lower() not in OPERATORS:
            raise QuerySyntaxError(f"unknown operator '{op}'", position=start, expected=_EXPECTED_OPERATOR)
        return op.lower(), start

    def _value(self, op: str) -> tuple[str | None, bool, int]:
        self._skip_whitespace()
        start = self.pos
        char = self._peek_char()
        if char and char in _QUOTES:
            return self._read_quoted(), True, start
        word = self._read_bare_word()
        if not word:
            raise QuerySyntaxError(f"missing value after {op}", position=start, expected=_EXPECTED_VALUE)
        upper = word.upper()
        if upper == "NULL":
            return None, False, start
        if upper in KEYWORDS:
            raise QuerySyntaxError(
                f"missing value after {op} ({upper} is a keyword; quote it to use it as text)",
                position=start,
                expected=_EXPECTED_VALUE,
            )
        return word, False, start

    def _read_quoted(self) -> str:
        start = self.pos
        quote = self.text[start]
        parts: list[str] = []
        cursor = start + 1
        while True:
            end = self.text.find(quote, cursor)
            if end < 0:
                raise QuerySyntaxError(
                    "unterminated quoted value", position=start, expected=f"a closing {quote} character"
                )
            parts.append(self.text[cursor:end])
            if self.text.startswith(quote, end + 1):  # a doubled quote stands for one literal quote
                parts.append(quote)
                cursor = end + 2
                continue
            self.pos = end + 1
            return "".join(parts)

    def _read_bare_word(self, stops: str = "()") -> str:
        start = self.pos
        while not self._at_end():
            char = self.text[self.pos]
            if char.isspace() or char in stops or char in _QUOTES:
                break
            self.pos += 1
        return self.text[start : self.pos]

    def _read_identifier(self) -> str:
        start = self.pos
        while not self._at_end() and self.text[self.pos] in _IDENTIFIER_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def _peek_word(self) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] in _IDENTIFIER_CHARS:
            end += 1
        return self.text[self.pos : end]

    def _accept_keyword(self, keyword: str) -> bool:
        """Consume `keyword` if it comes next, refusing one that nothing follows."""
        self._skip_whitespace()
        start = self.pos
        if self._peek_word().upper() != keyword:
            return False
        self.pos += len(keyword)
        self._skip_whitespace()
        if self._at_end() or self._peek_char() == ")":
            raise QuerySyntaxError(
                f"{keyword} is not followed by a condition", position=start, expected=_EXPECTED_CONDITION
            )
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _enter(self, position: int) -> None:
        # A cap keeps hostile input from exhausting the Python stack here or in the SQL compiler.
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QuerySyntaxError(f"the query is nested more than {MAX_NESTING} levels deep", position=position)

    def _expect_closing_parenthesis(self, opened_at: int) -> None:
        self._skip_whitespace()
        if self._at_end():
            raise QuerySyntaxError(
                f"the parenthesis opened at position {opened_at} is not closed",
                position=self.pos,
                expected="a closing parenthesis",
            )
        if self.text[self.pos] != ")":
            raise QuerySyntaxError(
                f"unexpected {self._describe_next()}",
                position=self.pos,
                expected="AND, OR or a closing parenthesis",
            )
        self.pos += 1

    def _fail_closing_parenthesis(self) -> NoReturn:
        if self.open_parens == 0:
            raise QuerySyntaxError("unmatched closing parenthesis", position=self.pos, expected=_EXPECTED_CONDITION)
        raise QuerySyntaxError(
            "a closing parenthesis where a condition was expected",
            position=self.pos,
            expected=_EXPECTED_CONDITION,
        )

    def _fail_trailing(self) -> NoReturn:
        if self.text[self.pos] == ")":
            raise QuerySyntaxError(
                "unmatched closing parenthesis", position=self.pos, expected="AND, OR or the end of the query"
            )
        raise QuerySyntaxError(
            f"unexpected {self._describe_next()}",
            position=self.pos,
            expected="AND, OR or the end of the query",
        )

    def _describe_next(self) -> str:
        if self._at_end():
            return "end of the query"
        word = self._peek_word() or self.text[self.pos]
        return f"'{word[:30]}'"

    def _skip_whitespace(self) -> None:
        while not self._at_end() and self.text[self.pos].isspace():
            self.pos += 1

    def _peek_char(self) -> str:
        return self.text[self.pos] if not self._at_end() else ""

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)
