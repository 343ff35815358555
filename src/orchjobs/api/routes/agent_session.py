"""Routes under /KeyfactorAgents/Session."""

from fastapi import APIRouter

router = APIRouter(prefix="/KeyfactorAgents/Session", tags=["AgentProtocol"])
