"""Microsoft Entra ID through Microsoft Graph (msgraph-sdk), collected as raw JSON pages."""
