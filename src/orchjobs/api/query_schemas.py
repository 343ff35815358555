"""Wire shapes of Query/Explain (an extension): what a query means for a resource, or the resource's fields."""

from datetime import datetime

from pydantic import Field

from orchjobs.api.schemas import Wire


class QueryEnumValueResponse(Wire):
    Value: int
    Name: str


class QueryFieldResponse(Wire):
    """A queryable field. In an explanation: the operators the query applies to it; in a catalogue (no query): every
    operator the field takes, its aliases and whether it sorts."""

    Name: str = Field(description="The canonical name.")
    Type: str = Field(description="text, number, enumeration, date, identifier, text list or hexadecimal.")
    Operators: list[str]
    Aliases: list[str] | None = Field(None, description="Catalogue only.")
    Sortable: bool | None = Field(None, description="Catalogue only.")
    Values: list[QueryEnumValueResponse] | None = Field(None, description="Enumerations only.")


class QueryTimeWindowResponse(Wire):
    """A date comparison resolved at the request's time: the times between From and To (absent: unbounded)."""

    Field_: str = Field(alias="Field")
    Operator: str
    Value: str
    From: datetime | None = None
    FromInclusive: bool | None = None
    To: datetime | None = None
    ToInclusive: bool | None = None
    Selects: str = Field(description="Inside (the times in the window) or Outside (-ne, or under NOT).")


class QueryErrorResponse(Wire):
    Message: str
    Reason: str
    Position: int = Field(description="0-based character offset in the query.")
    Expected: str | None = None


class QueryExplainResponse(Wire):
    """With a query: Valid, and either Query, Description, Fields and TimeWindow, or Error. Without: Fields."""

    Resource: str
    Valid: bool | None = None
    Query: str | None = Field(None, description="The canonical text (canonical field names); as sent when invalid.")
    Description: str | None = None
    Fields: list[QueryFieldResponse] | None = None
    TimeWindow: list[QueryTimeWindowResponse] | None = None
    Error: QueryErrorResponse | None = None
