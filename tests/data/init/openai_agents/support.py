"""A support desk in the shape of the Agents SDK examples (never run by the tests)."""

from __future__ import annotations

import os

from agents import (
    Agent,
    HostedMCPTool,
    RunContextWrapper,
    Runner,
    WebSearchTool,
    function_tool,
    handoff,
)
from agents.extensions.models.litellm_model import LitellmModel
from pydantic import BaseModel


class SupportContext(BaseModel):
    customer_id: str | None = None


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up."""
    return order_id


@function_tool(needs_approval=True)
def issue_refund(order_id: str, amount: int) -> str:
    """Refund an order."""
    return f"refunded {amount}"


async def _big_change(ctx: RunContextWrapper[SupportContext], params: dict, call_id: str) -> bool:
    return True


@function_tool(name_override="update_address", needs_approval=_big_change)
def change_address(address: str) -> str:
    """Change the shipping address."""
    return address


refund_agent = Agent[SupportContext](
    name="Refund Agent",
    handoff_description="Handles refunds.",
    instructions="You issue refunds after checking the order.",
    tools=[lookup_order, issue_refund],
    model="gpt-4.1",
)

spanish_agent = Agent(
    name="spanish_agent",
    instructions="Translate the message to Spanish.",
    model=LitellmModel(model="anthropic/claude-3-5-sonnet-20240620"),
)

faq_agent = Agent(
    name="FAQ Agent",
    instructions="Answer FAQs; search the web when unsure.",
    model=os.getenv("FAQ_MODEL", "gpt-4o-mini"),
    tools=[
        WebSearchTool(),
        HostedMCPTool(
            tool_config={
                "type": "mcp",
                "server_label": "docs",
                "server_url": "https://docs.example.invalid/mcp",
                "require_approval": "always",
            }
        ),
        spanish_agent.as_tool(
            tool_name="translate_to_spanish",
            tool_description="Translate the user's message to Spanish",
        ),
    ],
)

triage_agent = Agent[SupportContext](
    name="Triage Agent",
    instructions="Route the customer to the right agent.",
    handoffs=[faq_agent, handoff(agent=refund_agent), handoff(spanish_agent)],
    tools=[change_address],
)


async def main() -> None:
    result = await Runner.run(triage_agent, "Where is my order?")
    print(result.final_output)
