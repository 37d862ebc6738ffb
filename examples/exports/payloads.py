"""Job payloads of the four GNB queues: BullMQ's job name and data, `{"name": "bookings-csv", "data": {…}}`,
with `data` exactly as the document passes it (JavaScript Dates as ISO strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

STRICT = ConfigDict(extra="forbid", hide_input_in_errors=True, str_strip_whitespace=True)
# Database documents (a booking, a user) arrive whole, with fields this pack does not read.
DOCUMENT = ConfigDict(extra="allow", hide_input_in_errors=True, populate_by_name=True)

Filters = dict[str, str | int | list[str | int]]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,253}$")]


# --- exports --------------------------------------------------------------------------------------------


class FilterData(BaseModel):
    model_config = STRICT

    filters: Filters = Field(default_factory=dict)


class PeriodData(BaseModel):
    model_config = STRICT

    startDate: datetime
    endDate: datetime


class BookingsCsv(BaseModel):
    model_config = STRICT
    name: Literal["bookings-csv"]
    data: FilterData


class UsersCsv(BaseModel):
    model_config = STRICT
    name: Literal["users-csv"]
    data: FilterData


class RevenuePdf(BaseModel):
    model_config = STRICT
    name: Literal["revenue-pdf"]
    data: PeriodData


class ExportJob(RootModel[Annotated[BookingsCsv | UsersCsv | RevenuePdf, Field(discriminator="name")]]):
    pass


# --- email ----------------------------------------------------------------------------------------------


class SendEmailData(BaseModel):
    model_config = STRICT

    to: Email
    subject: str = Field(min_length=1, max_length=300)
    html: str = Field(min_length=1, max_length=500_000)
    text: str | None = Field(default=None, max_length=500_000)
    from_: Email | None = Field(default=None, alias="from")


class Booking(BaseModel):
    model_config = DOCUMENT

    id: str = Field(alias="_id", min_length=1, max_length=64)
    tour: str = Field(min_length=1, max_length=200)
    date: datetime
    guests: int = Field(default=1, ge=1, le=100)
    amount: float | None = None
    currency: str = "EUR"
    status: str = "confirmed"


class User(BaseModel):
    model_config = DOCUMENT

    id: str | None = Field(default=None, alias="_id")
    name: str = Field(min_length=1, max_length=200)
    email: Email


class BookingConfirmationData(BaseModel):
    model_config = STRICT

    booking: Booking
    user: User


class SendEmail(BaseModel):
    model_config = STRICT
    name: Literal["send-email"]
    data: SendEmailData


class BookingConfirmation(BaseModel):
    model_config = STRICT
    name: Literal["booking-confirmation"]
    data: BookingConfirmationData


class EmailJob(RootModel[Annotated[SendEmail | BookingConfirmation, Field(discriminator="name")]]):
    pass


# --- AI -------------------------------------------------------------------------------------------------


class RecommendationOptions(BaseModel):
    model_config = STRICT

    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    limit: int = Field(default=3, ge=1, le=10)


class RecommendationData(BaseModel):
    model_config = STRICT

    userId: str = Field(min_length=1, max_length=64)
    options: RecommendationOptions = Field(default_factory=RecommendationOptions)


class DelayRiskData(BaseModel):
    model_config = STRICT

    origin: str = Field(min_length=1, max_length=200)
    destination: str = Field(min_length=1, max_length=200)
    scheduledTime: datetime


class PackageRecommendations(BaseModel):
    model_config = STRICT
    name: Literal["package-recommendations"]
    data: RecommendationData


class DelayRisk(BaseModel):
    model_config = STRICT
    name: Literal["delay-risk"]
    data: DelayRiskData


class AIJob(RootModel[Annotated[PackageRecommendations | DelayRisk, Field(discriminator="name")]]):
    pass


# --- scheduled ------------------------------------------------------------------------------------------


class NoData(BaseModel):
    model_config = STRICT


class ProcessCampaigns(BaseModel):
    model_config = STRICT
    name: Literal["process-campaigns"]
    data: NoData = Field(default_factory=NoData)


class UpdateSitemap(BaseModel):
    model_config = STRICT
    name: Literal["update-sitemap"]
    data: NoData = Field(default_factory=NoData)


class ScheduledJob(RootModel[Annotated[ProcessCampaigns | UpdateSitemap, Field(discriminator="name")]]):
    pass


def job_of(payload: RootModel) -> Any:
    """The validated job (name and data) inside a queue's payload."""
    return payload.root
