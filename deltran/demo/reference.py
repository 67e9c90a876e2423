"""Static reference data of the demo network: banks, EMI accounts, names.

Fixed, not drawn from the seed: the same IBANs and BICs every run, so the
platform's account registry and any saved query keep working across demos.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CURRENCIES = ("USD", "AED", "ILS")
# Rough value of one unit in USD: only shapes random draws (amounts stay integer cents).
USD_PER_UNIT = {"USD": 1.0, "AED": 1 / 3.6725, "ILS": 1 / 3.70}
# Mid rates of the ledger's FX journals (units of quote per one unit of base).
FX_MID = {("USD", "AED"): Decimal("3.6725"), ("USD", "ILS"): Decimal("3.7000"), ("AED", "ILS"): Decimal("1.0075")}


@dataclass(frozen=True)
class Bank:
    bic: str
    name: str
    country: str

    @property
    def short(self) -> str:
        """The first four letters, used as a prefix of the bank's references."""
        return self.bic[:4]


@dataclass(frozen=True)
class Account:
    """An EMI safeguarding account: one bank, one currency."""

    key: str  # A1..A6
    bank: Bank
    currency: str
    iban: str
    owner: str = "DelTran EMI Safeguarding Ltd"


BANK_A = Bank("DLTAAEADXXX", "Delta Arab Bank", "AE")
BANK_B = Bank("DLTBGB2LXXX", "Delta Britannia Bank", "GB")
BANK_C = Bank("DLTCILITXXX", "Delta Carmel Bank", "IL")
EMI_BANKS = (BANK_A, BANK_B, BANK_C)
# Participants of the clearing network: the three EMI banks and three more.
PARTICIPANTS = EMI_BANKS + (
    Bank("DLTDUS33XXX", "Delta Hudson Bank", "US"),
    Bank("DLTEDEFFXXX", "Delta Main Bank", "DE"),
    Bank("DLTFSGSGXXX", "Delta Straits Bank", "SG"),
)


def iban(country: str, bban: str) -> str:
    """Build an IBAN with valid ISO 13616 mod-97 check digits."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def iban_is_valid(value: str) -> bool:
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# BBAN layouts: AE bank(3) + account(16); GB bank(4) + sort code(6) + account(8);
# IL bank(3) + branch(3) + account(13).
ACCOUNTS = (
    Account("A1", BANK_A, "AED", iban("AE", "901" + "0000012345670001")),
    Account("A2", BANK_A, "USD", iban("AE", "901" + "0000012345670002")),
    Account("A3", BANK_B, "USD", iban("GB", "DLTB" + "409012" + "70010003")),
    Account("A4", BANK_B, "ILS", iban("GB", "DLTB" + "409012" + "70010004")),
    Account("A5", BANK_C, "ILS", iban("IL", "091" + "800" + "0000070010005")),
    Account("A6", BANK_C, "AED", iban("IL", "091" + "800" + "0000070010006")),
)
# Pairs of same-currency accounts between which treasury rebalances money.
TREASURY_PAIRS = (("A1", "A6"), ("A2", "A3"), ("A4", "A5"))

CLIENTS = (
    "Acme Trading LLC",
    "Blue Dune Logistics FZE",
    "Cedar Point Imports Ltd",
    "Dhow Harbour Shipping",
    "Emerald Souk Retail",
    "Falcon Crest Holdings",
    "Galilee Tech Ltd",
    "Harbourline Freight PLC",
    "Ionic Software Ltd",
    "Jasmine Textiles FZCO",
    "Kinneret Agritech Ltd",
    "Lantern Media Group",
    "Marina Bay Ventures",
    "Negev Solar Ltd",
    "Oasis Foods Trading",
    "Pearl Coast Jewellers",
    "Quayside Capital LLP",
    "Red Sea Resorts",
    "Saffron Spice Company",
    "Thames Valley Instruments",
    "Umber Ceramics Ltd",
    "Vantage Aero Parts",
    "Wadi Construction LLC",
    "Yarden Medical Devices",
    "Zenith Electronics FZE",
    "Amber Lane Apparel",
    "Bridgewater Pharma Ltd",
    "Carmel Vineyards Ltd",
    "Desert Rose Hospitality",
    "Eastgate Steel Works",
)

# The clearing system itself: the receiver of every pacs.008 file.
HUB = Bank("DLTNAEADXXX", "DelTran Clearing Hub", "AE")
