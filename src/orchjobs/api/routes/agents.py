"""Routes under /KeyfactorAPI/Agents."""

from fastapi import APIRouter

router = APIRouter(prefix="/KeyfactorAPI/Agents", tags=["Agents"])
