"""Routes under /KeyfactorAgents/Jobs."""

from fastapi import APIRouter

router = APIRouter(prefix="/KeyfactorAgents/Jobs", tags=["AgentProtocol"])
